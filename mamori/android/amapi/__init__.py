"""The AMAPI gateway: the only module that talks to Google's Android Management API.

Everything Mamori asks of AMAPI goes through these functions (``calls.py``), on the official
google-api-python-client with a service account's credentials (``client.py``), counted against
the deployment-wide, per-contract-fair budget (``limiter.py``), with Google's failures mapped to
``AmapiUnavailable`` / ``AmapiNotFound`` / ``AmapiRefused`` (``errors.py``) and turned into work
retries by ``work_retry`` / ``amapi_work`` (``work.py``). Every call takes ``contract_id``
(keyword) for the limiter's fair share. See ``/work/android-interfaces.md`` and ANDROID.md.

Import from ``AppConfig.ready()`` or later: the limiter's models load with it.
"""

from mamori.android.amapi.calls import (
    command_marked,
    configured,
    device_delete,
    device_get,
    device_issue_command,
    device_list,
    device_patch,
    enrollment_token_create,
    enrollment_token_delete,
    enrollment_token_list,
    enterprise_create,
    enterprise_get,
    enterprise_patch,
    operation_cancel,
    operation_get,
    operation_list,
    policy_delete,
    policy_get,
    policy_list,
    policy_patch,
    project_id,
    pubsub_topic,
    signup_url_create,
)
from mamori.android.amapi.errors import (
    AmapiError,
    AmapiNotConfigured,
    AmapiNotFound,
    AmapiRefused,
    AmapiUnavailable,
)
from mamori.android.amapi.work import amapi_work, work_retry, work_retry_policy

__all__ = [
    "AmapiError",
    "AmapiNotConfigured",
    "AmapiNotFound",
    "AmapiRefused",
    "AmapiUnavailable",
    "amapi_work",
    "command_marked",
    "configured",
    "device_delete",
    "device_get",
    "device_issue_command",
    "device_list",
    "device_patch",
    "enrollment_token_create",
    "enrollment_token_delete",
    "enrollment_token_list",
    "enterprise_create",
    "enterprise_get",
    "enterprise_patch",
    "operation_cancel",
    "operation_get",
    "operation_list",
    "policy_delete",
    "policy_get",
    "policy_list",
    "policy_patch",
    "project_id",
    "pubsub_topic",
    "signup_url_create",
    "work_retry",
    "work_retry_policy",
]
