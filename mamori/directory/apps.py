from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "mamori.directory"
    label = "directory"
