"""Governance: preflight policies for every model change and the tamper-evident audit log.

Names load on first use (PEP 562): importing one light module of this package does not
import the heavy ones.
"""

from typing import TYPE_CHECKING

from ordinis.engines.learning.core.lazy import lazy_getattr

if TYPE_CHECKING:
    from ordinis.engines.learning.governance.audit import (
        GENESIS_HASH,
        AuditLog,
        AuditVerification,
        record_hash,
    )
    from ordinis.engines.learning.governance.policies import (
        ACTIONS,
        AllowedModelTypesPolicy,
        ApprovalRequiredPolicy,
        Decision,
        EvaluationRequiredPolicy,
        GovernanceAction,
        MinSamplesPolicy,
        Policy,
        PolicyEngine,
        PolicyResult,
        PreflightResult,
        StagingBeforeProductionPolicy,
        default_policies,
    )

_LAZY: dict[str, str] = {
    "GENESIS_HASH": "ordinis.engines.learning.governance.audit",
    "AuditLog": "ordinis.engines.learning.governance.audit",
    "AuditVerification": "ordinis.engines.learning.governance.audit",
    "record_hash": "ordinis.engines.learning.governance.audit",
    "ACTIONS": "ordinis.engines.learning.governance.policies",
    "AllowedModelTypesPolicy": "ordinis.engines.learning.governance.policies",
    "ApprovalRequiredPolicy": "ordinis.engines.learning.governance.policies",
    "Decision": "ordinis.engines.learning.governance.policies",
    "EvaluationRequiredPolicy": "ordinis.engines.learning.governance.policies",
    "GovernanceAction": "ordinis.engines.learning.governance.policies",
    "MinSamplesPolicy": "ordinis.engines.learning.governance.policies",
    "Policy": "ordinis.engines.learning.governance.policies",
    "PolicyEngine": "ordinis.engines.learning.governance.policies",
    "PolicyResult": "ordinis.engines.learning.governance.policies",
    "PreflightResult": "ordinis.engines.learning.governance.policies",
    "StagingBeforeProductionPolicy": "ordinis.engines.learning.governance.policies",
    "default_policies": "ordinis.engines.learning.governance.policies",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "ACTIONS",
    "GENESIS_HASH",
    "AllowedModelTypesPolicy",
    "ApprovalRequiredPolicy",
    "AuditLog",
    "AuditVerification",
    "Decision",
    "EvaluationRequiredPolicy",
    "GovernanceAction",
    "MinSamplesPolicy",
    "Policy",
    "PolicyEngine",
    "PolicyResult",
    "PreflightResult",
    "StagingBeforeProductionPolicy",
    "default_policies",
    "record_hash",
]
