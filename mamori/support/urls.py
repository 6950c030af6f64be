from django.urls import path

from mamori.support import views

# Mounted under /<domain>/ by mamori/panel/urls.py, in the "panel" namespace.
urlpatterns = [
    path("support/", views.inquiries_list, name="support_inquiries"),
    path("support/new/", views.inquiry_new, name="support_inquiry_new"),
    path("support/<int:inquiry_id>/", views.inquiry_detail, name="support_inquiry_detail"),
]
