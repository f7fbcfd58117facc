"""Roles and what each may do in the portal and the API.

Permissions decide what a user may *do*; tenant scope (:mod:`poskit.portal.scope`)
decides which merchant's data they may *see*. A missing permission is a 403 on the
user's own data; another merchant's data is always a 404.
"""

from __future__ import annotations

import enum

from fastapi import HTTPException

from poskit.portal.accounts import PortalUser

__all__ = ["ROLE_PERMISSIONS", "Permission", "PermissionDenied", "can", "require"]


class Permission(enum.StrEnum):
    VIEW_TRANSACTIONS = "view_transactions"
    EXPORT = "export"  # CSV downloads
    SIGN = "sign"  # supply a missing cardholder signature (补签)
    VIEW_FINANCE = "view_finance"  # settlements, payouts, statements, fees
    REQUEST_PAYOUT = "request_payout"  # instant (D0) settlement
    OPEN_DISPUTE = "open_dispute"
    REQUEST_CHANGE = "request_change"  # 变更商户
    MANAGE_OPERATORS = "manage_operators"
    OPEN_TICKET = "open_ticket"
    ANSWER_TICKET = "answer_ticket"
    REVIEW = "review"  # acquirer review queues: disputes, change requests, flags
    ADMIN = "admin"  # audit log, users and lockouts, support contacts
    ONBOARD = (
        "onboard"  # merchant onboarding (入网) and terminal inventory: add merchants, move/retire terminals
    )


_MERCHANT_STAFF = {
    Permission.VIEW_TRANSACTIONS,
    Permission.EXPORT,
    Permission.SIGN,
    Permission.OPEN_TICKET,
}
_MERCHANT_OWNER = _MERCHANT_STAFF | {
    Permission.VIEW_FINANCE,
    Permission.REQUEST_PAYOUT,
    Permission.OPEN_DISPUTE,
    Permission.REQUEST_CHANGE,
    Permission.MANAGE_OPERATORS,
}
_ACQUIRER_STAFF = {
    Permission.VIEW_TRANSACTIONS,
    Permission.REQUEST_CHANGE,  # on a merchant's behalf; another staff member must approve
    Permission.EXPORT,
    Permission.VIEW_FINANCE,
    Permission.ANSWER_TICKET,
    Permission.REVIEW,
}
_ACQUIRER_ADMIN = _ACQUIRER_STAFF | {Permission.MANAGE_OPERATORS, Permission.ADMIN, Permission.ONBOARD}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "merchant_staff": frozenset(_MERCHANT_STAFF),
    "merchant_owner": frozenset(_MERCHANT_OWNER),
    "acquirer_staff": frozenset(_ACQUIRER_STAFF),
    "acquirer_admin": frozenset(_ACQUIRER_ADMIN),
}


class PermissionDenied(HTTPException):
    def __init__(self, permission: Permission) -> None:
        super().__init__(status_code=403, detail=f"your role may not do this ({permission.value})")
        self.permission = permission


def can(user: PortalUser, permission: Permission | str) -> bool:
    return Permission(permission) in ROLE_PERMISSIONS.get(user.role, frozenset())


def require(user: PortalUser, permission: Permission) -> None:
    if not can(user, permission):
        raise PermissionDenied(permission)
