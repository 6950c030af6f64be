"""AMAPI policies as data: validation against the discovery document's ``Policy`` schema, the
profile form over the settings administrators use most, the initial settings profile's policy,
and the comparison of two versions (issue 8, point 3; ANDROID.md 2.6 and 2.7).

Nothing here calls Google or touches the database: the app stores profiles and versions, the
gateway publishes them; this package says what a policy may be and how a person edits and reads it.
"""

from mamori.android.policy.defaults import DEVICES_TAB_REPORTS, initial_policy, policy_warnings
from mamori.android.policy.diff import Change, policy_diff
from mamori.android.policy.form import ProfileForm
from mamori.android.policy.schema import (
    SERVER_FIELDS,
    PolicyError,
    package_name_valid,
    policy_errors,
    policy_errors_from_google,
    policy_without_server_fields,
)

__all__ = [
    "DEVICES_TAB_REPORTS",
    "SERVER_FIELDS",
    "Change",
    "PolicyError",
    "ProfileForm",
    "initial_policy",
    "package_name_valid",
    "policy_diff",
    "policy_errors",
    "policy_errors_from_google",
    "policy_warnings",
    "policy_without_server_fields",
]
