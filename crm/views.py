"""Account pages of the web app (sign in and out are Django's own views)."""

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm import services, tokens
from crm.forms import SettingsForm
from crm.web import INVALID, add_domain_errors, render_page


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password was changed.")
        return response


@require_POST
@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session of the user (this one too) and refuse every API token issued so far."""
    tokens.sign_out_everywhere(request.user)
    logout(request)
    messages.success(
        request,
        "You were signed out everywhere: in every browser, and from every integration that "
        "used your account. Sign in again to go on.",
    )
    return redirect("login")


@require_http_methods(["GET", "POST"])
@login_required
def account_settings(request: HttpRequest) -> HttpResponse:
    """The user's own settings: email, time zone, reminders, the morning agenda."""
    user = request.user
    kwargs = {
        "server_zone": django_settings.TIME_ZONE,
        "zones": services.time_zone_names(),
        "reminders": services.REMIND_CHOICES,
    }
    if request.method == "POST":
        form = SettingsForm(request.POST, **kwargs)
        if form.is_valid():
            try:
                services.user_settings_update(user=user, **form.cleaned_data)
            except ValidationError as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, "Settings saved.")
                return redirect("settings")
    else:
        initial = {
            "email": user.email,
            "time_zone": user.time_zone,
            "remind_minutes": "" if user.remind_minutes is None else str(user.remind_minutes),
            "morning_agenda": user.morning_agenda,
        }
        form = SettingsForm(initial=initial, **kwargs)
    status = INVALID if form.errors else 200
    return render_page(request, "registration/settings.html", {"form": form}, status=status)
