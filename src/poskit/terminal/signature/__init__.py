"""Electronic signatures for the CUPS 0820 upload: T.85 JBIG codec, image helpers, 特征码, chunking.

* :mod:`.jbig85` — ITU-T T.82 / T.85 encoder and decoder (see its docstring for exactly what
  is implemented), on the QM coder of :mod:`.qm_coder`.
* :mod:`.image` — signature PNG <-> bilevel bitmap <-> JBIG.
* :mod:`.feature_code` — the feature code printed with the e-receipt.
* :mod:`.chunking` — F62 splitting into 0820 800/801 packets and reassembly.
"""

from __future__ import annotations

from poskit.terminal.signature.chunking import (
    CONTINUATION_PACKET,
    FIRST_PACKET,
    MAX_F62_LENGTH,
    UploadAssembler,
    UploadChunkError,
    UploadPacket,
    reassemble_upload,
    split_for_upload,
    upload_packets,
)
from poskit.terminal.signature.feature_code import FeatureCodeError, feature_code
from poskit.terminal.signature.image import (
    SignatureImageError,
    bilevel_to_png,
    jbig_to_png,
    png_to_bilevel,
    signature_to_jbig,
)
from poskit.terminal.signature.jbig85 import (
    SIGNATURE_MAX_PIXELS,
    BiLevelHeader,
    JbigError,
    JbigParameterError,
    decode_t85,
    encode_t85,
    parse_bih,
)

__all__ = [
    "CONTINUATION_PACKET",
    "FIRST_PACKET",
    "MAX_F62_LENGTH",
    "SIGNATURE_MAX_PIXELS",
    "BiLevelHeader",
    "FeatureCodeError",
    "JbigError",
    "JbigParameterError",
    "SignatureImageError",
    "UploadAssembler",
    "UploadChunkError",
    "UploadPacket",
    "bilevel_to_png",
    "decode_t85",
    "encode_t85",
    "feature_code",
    "jbig_to_png",
    "parse_bih",
    "png_to_bilevel",
    "reassemble_upload",
    "signature_to_jbig",
    "split_for_upload",
    "upload_packets",
]
