"""``poskit bench hsm``: operations per second of the software HSM's hot paths.

Each operation goes through :class:`~poskit.crypto.hsm.SoftHSM` with LMK-wrapped key blocks,
exactly as the host calls it: the first call unwraps the block and builds its cipher contexts,
every later call reuses them from the HSM's cache. Measured single-threaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from poskit.benchmarks import BenchResult
from poskit.crypto.emv import derive_icc_master_key, derive_session_key, generate_ac
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.lmk import LocalMasterKey
from poskit.crypto.pinpad import DukptPinPad

__all__ = ["DESCRIPTION", "run"]

DESCRIPTION = "software HSM: PIN translate, MAC verify (cups-ecb, x919), ARQC verify, DUKPT PIN translate"

_PAN = "6225880112345678"
_H = bytes.fromhex


def _rate(op: Callable[[], object], seconds: float) -> tuple[float, int]:
    """Calls per second of ``op`` over about ``seconds`` (after a warm-up call)."""
    op()
    calls, batch = 0, 16
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            op()
        calls += batch
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start), calls
        batch = min(batch * 2, 4096)


def _fmt(rate: float) -> str:
    return f"{rate:,.0f} ops/s ({1e6 / rate:,.1f} µs/op)"


def run(*, quick: bool) -> BenchResult:
    """Measure each operation for 0.05 s (quick) or 1 s."""
    seconds = 0.05 if quick else 1.0
    hsm = SoftHSM(LocalMasterKey.generate())
    pad_hsm = SoftHSM(LocalMasterKey.generate())

    # Terminal PIN key -> zone PIN key, as VerifyPin does for fixed-key terminals.
    pik = hsm.generate_key("P0", algorithm="TDES", length=16, mode="B")
    zpk = hsm.generate_key("P0", algorithm="TDES", length=16, mode="B")
    pin_block = hsm.encrypt_pin("123456", _PAN, key=pik)

    # A 0200's MAB is ~120 bytes.
    message = bytes(range(120))
    mak_ecb = hsm.generate_key("M0", algorithm="TDES", length=8, mode="C")
    mak_x919 = hsm.generate_key("M3", algorithm="TDES", length=16, mode="C")
    mac_ecb = hsm.generate_mac(message, key=mak_ecb, algorithm="cups-ecb")
    mac_x919 = hsm.generate_mac(message, key=mak_x919, algorithm="x919")

    # ARQC over typical CDOL1 data (~30 bytes), the IMK by EMV option A + common session key.
    imk_clear = _H("0123456789ABCDEFFEDCBA9876543210")
    imk = hsm.import_clear_key(imk_clear, "E0")
    atc = _H("001C")
    cdol = bytes(range(33))
    sk = derive_session_key(derive_icc_master_key(imk_clear, _PAN, "01"), atc)
    arqc = generate_ac(sk, cdol)

    # DUKPT: the host derives the PIN key from the BDK for every KSN (counter 1..n, a few set bits).
    bdk = hsm.generate_key("B0", algorithm="TDES", length=16, mode="X")
    ksn0 = _H("FFFF9876543210E00000")
    ik = hsm.derive_dukpt_initial_key(bdk=bdk, ksn=ksn0)
    pad = DukptPinPad.load(pad_hsm, hsm.transfer_key(ik, to=pad_hsm), ksn0)
    samples = []
    for _ in range(64):
        txn = pad.next_transaction()
        samples.append((txn.ksn, txn.encrypt_pin("123456", _PAN)))
    index = [0]

    def dukpt_translate() -> None:
        ksn, block = samples[index[0] % len(samples)]
        index[0] += 1
        hsm.dukpt_translate_pin_block(block, ksn=ksn, bdk=bdk, pan=_PAN, dest_key=zpk)

    operations: list[tuple[str, Callable[[], object]]] = [
        (
            "PIN translate (TDES PIK -> ZPK, format 0)",
            lambda: hsm.translate_pin_block(pin_block, pan=_PAN, source_key=pik, dest_key=zpk),
        ),
        (
            "MAC verify cups-ecb (120-byte MAB)",
            lambda: hsm.verify_mac(message, mac_ecb, key=mak_ecb, algorithm="cups-ecb"),
        ),
        (
            "MAC verify x919 (120-byte MAB)",
            lambda: hsm.verify_mac(message, mac_x919, key=mak_x919, algorithm="x919"),
        ),
        (
            "ARQC verify (option A, common session key)",
            lambda: hsm.verify_arqc(imk=imk, pan=_PAN, psn="01", atc=atc, data=cdol, arqc=arqc),
        ),
        ("DUKPT PIN translate (TDES, BDK -> PIN key -> ZPK)", dukpt_translate),
    ]
    rows: list[tuple[str, str]] = []
    data: dict[str, float] = {}
    for label, op in operations:
        rate, _calls = _rate(op, seconds)
        rows.append((label, _fmt(rate)))
        data[label] = round(rate, 1)
    notes = [
        f"{seconds:g} s per operation, one thread, key blocks cached by the HSM after the first call"
        + (" (quick run: figures are rough)" if quick else ""),
        "keys are generated fresh for each run; ARQC verification derives the card and session keys "
        "on every call, DUKPT PIN translation the transaction key from the BDK on every call",
    ]
    return BenchResult(
        name="hsm",
        title="Software HSM (poskit bench hsm)",
        rows=rows,
        notes=notes,
        data={"ops_per_second": data},
    )
