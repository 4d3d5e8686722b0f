from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from appointments.api import views as appointment_api
from crm import password_reset, signin
from crm import views as web
from crm import views_notifications as notification_views
from crm.api import views as auth_api
from leads.api import views as lead_api
from leads.api.lead_set import lead_set
from leads.rpc import views as rpc
from leads.views import dashboard

# The documented paths live under api/v1/leads/; the source docs' sample code leaves out
# "leads/" (and once doubles "v1/"), so those spellings are served too.
lead_endpoints = [
    path("overview/", lead_api.OverviewView.as_view(), name="overview"),
    path("list/", lead_api.LeadListView.as_view(), name="list"),
    path("appointments/list/", appointment_api.AppointmentListView.as_view(), name="appointments"),
    path("view/lead/", lead_api.LeadDetailView.as_view(), name="view-lead"),
    path(
        "create/appointment/",
        appointment_api.CreateAppointmentView.as_view(),
        name="create-appointment",
    ),
    path(
        "update/appointment/",
        appointment_api.UpdateAppointmentView.as_view(),
        name="update-appointment",
    ),
    path(
        "delete/appointment/",
        appointment_api.DeleteAppointmentView.as_view(),
        name="delete-appointment",
    ),
    path("create/lead/", lead_api.CreateLeadView.as_view(), name="create-lead"),
    path("update/lead/", lead_api.UpdateLeadView.as_view(), name="update-lead"),
    path("delete/lead/", lead_api.DeleteLeadView.as_view(), name="delete-lead"),
    path("create/leadnote/", lead_api.CreateNoteView.as_view(), name="create-note"),
    path("delete/leadnote/", lead_api.DeleteNoteView.as_view(), name="delete-note"),
]

api_v1 = [
    path("user/login/", auth_api.LoginView.as_view(), name="login"),
    path("user/token/refresh/", auth_api.RefreshView.as_view(), name="token-refresh"),
    path("user/logout/", auth_api.LogoutView.as_view(), name="logout"),
    path("leads/", include(lead_endpoints)),
    path("", include((lead_endpoints, "api-alias"), namespace="alias")),
    path("v1/", include((lead_endpoints, "api-alias-v1"), namespace="alias-v1")),
    path("v1/leads/", include((lead_endpoints, "api-alias-v1-leads"), namespace="alias-v1-leads")),
]

notification_pages = [
    path("notifications/", notification_views.notification_list, name="list"),
    path("notifications/read-all/", notification_views.notification_read_all, name="read-all"),
]

public = {"authentication_classes": [], "permission_classes": [AllowAny]}

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=signin.SignInForm
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", web.PasswordChangeView.as_view(), name="password_change"),
    # "Forgot password?": a link by email to set a new one (Django's views, our templates).
    path(
        "accounts/password/reset/",
        password_reset.PasswordResetView.as_view(),  # limited per email and client address
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("settings/", web.account_settings, name="settings"),
    path("accounts/sign-out-everywhere/", web.sign_out_everywhere, name="sign_out_everywhere"),
    path("", include("leads.urls")),
    path("", include("appointments.urls")),
    path("", include((notification_pages, "notifications"))),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("pubapi/v1/", rpc.endpoint, {"version": "v1"}, name="pubapi-v1"),
    path("pubapi/v1.2/", rpc.endpoint, {"version": "v1.2"}, name="pubapi-v1.2"),
    re_path(r"^api/service/lead_set/?$", lead_set, name="lead-set"),
    path("api/schema/", SpectacularAPIView.as_view(**public), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", **public),
        name="api-docs",
    ),
]

# Our own error pages, in the app's layout (crm/errors.py).
handler404 = "crm.errors.not_found"
handler403 = "crm.errors.forbidden"
handler500 = "crm.errors.server_error"
