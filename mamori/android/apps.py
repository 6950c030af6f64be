from django.apps import AppConfig


class AndroidConfig(AppConfig):
    """Android Enterprise: the binding to an enterprise, profiles (AMAPI policies) and
    enrollment tokens. Above ``directory`` and ``accounts``; AMAPI is reached only through
    ``mamori.android.amapi``."""

    name = "mamori.android"
    label = "android"

    def ready(self) -> None:
        from mamori.android import device_policy, permissions, work
        from mamori.android.audit_actions import audit_actions_register
        from mamori.android.commands import audit_actions as command_actions
        from mamori.android.commands import definitions as command_definitions
        from mamori.android.commands import work as command_work
        from mamori.android.inventory.deletion import organization_devices_check, user_devices_check
        from mamori.android.inventory.page import user_devices_html
        from mamori.android.notifications import work as notifications_work
        from mamori.android.selectors import profile_notes
        from mamori.android.services import organization_tokens_delete
        from mamori.directory.deletion import organization_deleting_register, user_deleting_register
        from mamori.directory.notes import org_note_register
        from mamori.directory.sections import user_section_register

        permissions.register()
        audit_actions_register()
        work.register()
        device_policy.register()
        notifications_work.register()
        organization_deleting_register("android.devices", organization_devices_check)
        user_deleting_register("android.devices", user_devices_check)
        user_section_register("android.devices", user_devices_html)
        command_definitions.register()
        command_actions.audit_actions_register()
        command_work.register()
        org_note_register("android.profile", profile_notes)
        organization_deleting_register("android.enrollment_tokens", organization_tokens_delete)
