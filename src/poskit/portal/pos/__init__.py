"""The browser POS: a POS machine in a web page, driving the real terminal engine.

Mount with ``app.include_router(router)`` and enable with :func:`configure_pos`
(the running services pass their settings and the host's address).
"""

from __future__ import annotations

from poskit.portal.pos.routes import PosConfig, close_pos, configure_pos, router

__all__ = ["PosConfig", "close_pos", "configure_pos", "router"]
