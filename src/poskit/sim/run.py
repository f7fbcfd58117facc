"""One seeded run: a merchant day of traffic under faults, then settlement and the invariants."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import random
from collections.abc import Callable, Iterable

import structlog

from poskit.cards.book import TestCard
from poskit.logs import configure_logging, open_log_file
from poskit.money import Amount
from poskit.sim.faults import FaultPlan, FaultRates, PowerLoss
from poskit.sim.invariants import (
    INVARIANTS,
    approvals_match_host,
    clear_card_data_in,
    issuer_balances_match,
    ledger_clean,
)
from poskit.sim.world import SimTerminal, SimWorld
from poskit.terminal.engine import TxnOutcome
from poskit.terminal.store import BatchRecord

__all__ = ["SimResult", "SimSummary", "run_seed", "run_seeds"]

_SUPERVISOR = "123456"


@dataclasses.dataclass
class SimResult:
    seed: int
    operations: int
    faults: collections.Counter[str]
    violations: list[str]
    events: list[str]
    host_boots: int
    terminals: int = 20

    @property
    def ok(self) -> bool:
        return not self.violations

    def replay_command(self) -> str:
        """The command that replays this run exactly (naming any size other than the default)."""
        command = f"poskit sim --seed {self.seed}"
        if self.terminals != 20:
            command += f" --terminals {self.terminals}"
        if self.operations != 200:
            command += f" --operations {self.operations}"
        return command

    def report(self, last: int = 40) -> str:
        """The failure report: the command that replays it, what broke, the last events."""
        lines = [f"seed {self.seed} failed; replay with: {self.replay_command()}", "violations:"]
        lines += [f"  {v}" for v in self.violations]
        lines.append(f"last {min(last, len(self.events))} of {len(self.events)} events:")
        lines += [f"  {e}" for e in self.events[-last:]]
        return "\n".join(lines)


@dataclasses.dataclass
class SimSummary:
    runs: int = 0
    operations: int = 0
    invariants_checked: int = 0
    faults: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    failures: list[SimResult] = dataclasses.field(default_factory=list)

    def add(self, result: SimResult) -> None:
        self.runs += 1
        self.operations += result.operations
        self.invariants_checked += len(INVARIANTS)
        self.faults.update(result.faults)
        if not result.ok:
            self.failures.append(result)


def _pick_card(rng: random.Random, world: SimWorld) -> tuple[TestCard, str]:
    card = rng.choice(world.cards)
    return card, rng.choice(card.interfaces)


def _approved(terminal: SimTerminal, txn_type: str) -> list[BatchRecord]:
    return [
        r
        for r in terminal.store.records(terminal.store.batch_no())
        if r.txn_type == txn_type and r.status == "approved"
    ]


async def _operation(rng: random.Random, world: SimWorld, terminal: SimTerminal) -> str:
    """One thing a merchant does at this terminal; returns what it was, for the trace."""
    roll = rng.random()
    card, interface = _pick_card(rng, world)
    engine = terminal.engine(card, interface)
    outcome: TxnOutcome | None = None
    what: str
    if roll < 0.6:
        amount = rng.randint(100, 50_000)
        what = f"sale {amount} {card.name} by {interface}"
        outcome = await engine.sale(Amount.of(amount, "CNY"))
    elif roll < 0.72:
        sales = _approved(terminal, "sale")
        if not sales:
            return "nothing to void"
        target = rng.choice(sales)
        what = f"void of {target.stan:06d}"
        original = target.pan_token and terminal.element.reveal_pan(target.pan_token)
        card = next((c for c in world.cards if c.pan == original), card)
        engine = terminal.engine(card, "magstripe" if card.has("magstripe") else card.interfaces[0])
        outcome = await engine.void(target.stan, _SUPERVISOR)
    elif roll < 0.82:
        refundable = [r for r in terminal.store.records() if r.txn_type == "sale" and r.status == "approved"]
        if not refundable:
            return "nothing to refund"
        target = rng.choice(refundable)
        amount = max(1, target.amount // rng.randint(2, 4))
        what = f"refund {amount} of {target.stan:06d}"
        outcome = await engine.refund(
            Amount.of(amount, "CNY"), target.rrn or "", target.local_datetime.strftime("%m%d"), _SUPERVISOR
        )
    else:
        what = f"balance inquiry {card.name} by {interface}"
        outcome = await engine.balance()
    return f"{what} -> {outcome.status} {outcome.response_code or ''}".rstrip()


async def _step(rng: random.Random, world: SimWorld, terminal: SimTerminal) -> None:
    f = world.faults
    if f.roll("clock.drift"):
        terminal.clock.shift(rng.uniform(-90, 90))
        terminal.note("clock drifted")
    if f.roll("clock.jump"):
        terminal.clock.shift(rng.choice((-3600.0, 3600.0, 86_400.0)))
        terminal.note("clock jumped")
    try:
        if f.roll("workload.sign_on"):
            outcome = await terminal.engine().sign_on()
            terminal.note(f"sign-on in the middle of traffic -> {outcome.status}")
        terminal.note(await _operation(rng, world, terminal))
    except PowerLoss as cut:
        terminal.note(f"power lost {cut.where}")
        terminal.power_cycle()
    except OSError as exc:
        terminal.note(f"store error: {exc}; the terminal restarts")
        terminal.power_cycle()


async def _close_day(world: SimWorld) -> list[str]:
    """Faults off: every terminal flushes its reversals and uploads, then settles."""
    world.faults.armed = False
    problems = []
    for t in world.terminals:
        engine = t.engine()
        if not await engine.send_pending_reversals():
            problems.append(f"{t.terminal_id}: reversals still pending with a healthy network")
        await engine.send_pending_uploads()
        settled = await engine.settle()
        t.note(f"settlement -> {settled.status} balanced={settled.extra.get('balanced')}")
        if not settled.approved:
            problems.append(f"{t.terminal_id}: settlement {settled.status}: {settled.message}")
        elif settled.extra.get("balanced") is not True:
            problems.append(
                f"{t.terminal_id}: totals differ, terminal {settled.extra.get('terminal_totals')} "
                f"host {settled.extra.get('host_totals')}"
            )
    return problems


async def _run(seed: int, terminals: int, operations: int, rates: FaultRates) -> SimResult:
    rng = random.Random(seed)
    faults = FaultPlan(random.Random(seed ^ 0xFA017), rates)
    world = SimWorld(seed, terminals=terminals, faults=faults)
    violations: list[str] = []
    saved_logging = structlog.get_config()
    log_file = open_log_file(world.directory / "sim.log", "w")
    configure_logging("json", stream=log_file)  # scanned for card data with the other files
    try:
        faults.armed = False  # the day opens on a healthy network; faults start with traffic
        for t in world.terminals:
            await t.engine().sign_on()
        faults.armed = True
        for _ in range(operations):
            world.clock.advance(rng.uniform(5, 240))
            await _step(rng, world, rng.choice(world.terminals))
        # before settlement, the records as the terminals left them
        engine = world.host.engine
        assert engine is not None
        settle_problems = await _close_day(world)
        violations += approvals_match_host(engine, world.terminals)
        violations += settle_problems
        violations += ledger_clean(engine)
        violations += issuer_balances_match(engine, world.terminals, _pan_hashes(world))
        log_file.flush()
        violations += clear_card_data_in(world.directory)
        violations += [f"host error escaped its handler: {e}" for e in world.host.unhandled]
    except Exception as exc:  # a bug the run hit: this seed fails, the sweep goes on to the next
        first_line = (str(exc).splitlines() or [""])[0][:300]
        world.events.append(f"the run raised {type(exc).__name__}")
        violations.append(f"the run raised {type(exc).__name__}: {first_line}")
    finally:
        structlog.configure(**saved_logging)
        log_file.close()
        world.close()
    return SimResult(seed, operations, faults.injected, violations, world.events, world.host.boots, terminals)


def _pan_hashes(world: SimWorld) -> dict[str, str]:
    protector = world.host.app.s.pan_protector
    return {card.name: protector.fingerprint(card.pan) for card in world.cards}


def run_seed(
    seed: int, *, terminals: int = 20, operations: int = 200, rates: FaultRates | None = None
) -> SimResult:
    """Run one seed to the end and check every invariant."""
    return asyncio.run(_run(seed, terminals, operations, rates or FaultRates()))


def run_seeds(
    seeds: Iterable[int],
    *,
    terminals: int = 20,
    operations: int = 200,
    on_result: Callable[[SimResult], None] | None = None,
) -> SimSummary:
    summary = SimSummary()
    for seed in seeds:
        result = run_seed(seed, terminals=terminals, operations=operations)
        summary.add(result)
        if on_result is not None:
            on_result(result)
    return summary
