from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "mamori.directory"
    label = "directory"

    def ready(self) -> None:
        from mamori.core.access import catalogue

        catalogue.register(
            "users",
            _("Users"),
            {
                "view": _("View"),
                "add": _("Add"),
                "change": _("Edit"),
                "delete": _("Delete"),
                "import": _("Import CSV"),
                "export": _("Export CSV"),
            },
            operator=("view",),
        )
        catalogue.register(
            "organizations",
            _("Organizations"),
            {"view": _("View"), "add": _("Add"), "change": _("Edit"), "delete": _("Delete")},
            operator=("view",),
        )

        from mamori.directory.audit_actions import audit_actions_register

        audit_actions_register()
