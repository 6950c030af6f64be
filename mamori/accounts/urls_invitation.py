from django.urls import path

from mamori.accounts import views_invitation

# Invitations to set a password; mounted under /<domain>/ in the "panel" namespace.
urlpatterns = [
    path("password/set/<str:token>/", views_invitation.password_set, name="password_set"),
]
