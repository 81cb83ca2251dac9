"""Governance: preflight policies for every model change and the tamper-evident audit log."""

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
