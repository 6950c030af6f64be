from django.urls import path

from mamori.directory import views

# Mounted under /<domain>/ by mamori/panel/urls.py, in the "panel" namespace.
urlpatterns = [
    path("users/", views.users_list, name="users"),
    path("users/add/", views.user_add, name="user_add"),
    path("users/bulk/", views.users_bulk, name="users_bulk"),
    path("users/<int:user_id>/", views.user_detail, name="user_detail"),
    path("users/<int:user_id>/edit/", views.user_edit, name="user_edit"),
    path("users/<int:user_id>/delete/", views.user_delete, name="user_delete"),
    path("orgs/<int:organization_id>/add/", views.organization_add, name="organization_add"),
    path(
        "orgs/<int:organization_id>/rename/", views.organization_rename, name="organization_rename"
    ),
    path("orgs/<int:organization_id>/move/", views.organization_move, name="organization_move"),
    path(
        "orgs/<int:organization_id>/delete/", views.organization_delete, name="organization_delete"
    ),
    path("orgs/<int:organization_id>/up/", views.organization_up, name="organization_up"),
    path("orgs/<int:organization_id>/down/", views.organization_down, name="organization_down"),
]
