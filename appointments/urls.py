"""The salespeople's web app: appointments (agenda, week calendar, calendar files)."""

from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
    path("appointments/", views.agenda, name="agenda"),
    path("appointments/week/", views.week, name="week"),
    path("appointments/feed/", views.feed, name="feed"),
    path("appointments/feed/reset/", views.feed_reset, name="feed-reset"),
    path("appointments/<int:pk>.ics", views.appointment_ics, name="ics"),
    path("appointments/<int:pk>/move/", views.move, name="move"),
    path("appointments/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("appointments/<int:pk>/mark/", views.mark, name="mark"),
    path("leads/<str:slug>/appointments/", views.lead_appointments, name="lead"),
    path("leads/<str:slug>/appointments/log/", views.lead_log, name="log"),
    # The secret calendar address: no session, the token is the credential.
    path("calendar/<str:token>.ics", views.feed_ics, name="feed-ics"),
]
