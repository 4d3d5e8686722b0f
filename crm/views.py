"""Account pages of the web app (sign in and out are Django's own views)."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from crm import tokens


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
