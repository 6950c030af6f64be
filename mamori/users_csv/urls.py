from django.urls import path

from mamori.users_csv import views as views_csv

# CSV import and export of users; mounted under /<domain>/ in the "panel" namespace.
urlpatterns = [
    path("users/import/", views_csv.users_import, name="users_import"),
    path("users/imports/<int:import_id>/", views_csv.user_import_detail, name="user_import_detail"),
    path("users/export.csv", views_csv.users_export, name="users_export"),
]
