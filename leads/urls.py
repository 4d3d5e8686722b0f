"""The salespeople's web app: leads, the pipeline board, import and merge."""

from django.urls import path

from leads.views import detail, imports, lists, merge, pipeline, tasks

app_name = "leads"

urlpatterns = [
    path("leads/", lists.lead_list, name="list"),
    path("leads/export.csv", lists.lead_export, name="export"),
    path("leads/bulk/", lists.lead_bulk, name="bulk"),
    path("leads/new/", detail.lead_create, name="create"),
    path("leads/merge/", merge.lead_merge, name="merge"),
    path("leads/<str:slug>/", detail.lead_detail, name="detail"),
    path("leads/<str:slug>/edit/", detail.lead_edit, name="edit"),
    path("leads/<str:slug>/status/", detail.lead_status, name="status"),
    path("leads/<str:slug>/assign/", detail.lead_assign, name="assign"),
    path("leads/<str:slug>/delete/", detail.lead_delete, name="delete"),
    path(
        "leads/<str:slug>/personal-data/",
        detail.personal_data_export,
        name="personal-data",
    ),
    path(
        "leads/<str:slug>/personal-data/erase/",
        detail.personal_data_erase,
        name="personal-data-erase",
    ),
    path("leads/<str:slug>/files/", detail.file_add, name="file-add"),
    path("leads/<str:slug>/files/<int:file_id>/", detail.lead_file, name="file"),
    path("leads/<str:slug>/files/<int:file_id>/delete/", detail.file_delete, name="file-delete"),
    path("leads/<str:slug>/calls/", detail.call_add, name="call-add"),
    path("leads/<str:slug>/notes/", detail.note_add, name="note-add"),
    path("leads/<str:slug>/notes/<int:note_id>/delete/", detail.note_delete, name="note-delete"),
    path("leads/<str:slug>/notes/<int:note_id>/restore/", detail.note_restore, name="note-restore"),
    path("leads/<str:slug>/tasks/", tasks.task_add, name="task-add"),
    path("tasks/new/", tasks.task_add, name="task-new"),
    path("tasks/<int:pk>/done/", tasks.task_done, name="task-done"),
    path("tasks/<int:pk>/snooze/", tasks.task_snooze, name="task-snooze"),
    path("tasks/<int:pk>/delete/", tasks.task_delete, name="task-delete"),
    path("tasks/<int:pk>/reassign/", tasks.task_reassign, name="task-reassign"),
    path("pipeline/", pipeline.board, name="pipeline"),
    path("pipeline/move/", pipeline.move, name="pipeline-move"),
    path("pipeline/move/<str:slug>/", pipeline.move_menu, name="pipeline-move-menu"),
    path("import/", imports.upload, name="import"),
    path("import/<int:pk>/", imports.review, name="import-review"),
    path("import/<int:pk>/run/", imports.run, name="import-run"),
    path("import/<int:pk>/discard/", imports.discard, name="import-discard"),
]
