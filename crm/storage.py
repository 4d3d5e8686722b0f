"""Static files in production: WhiteNoise's compressed, content-hashed files, once
``manage.py collectstatic`` has run.

Before it has (a fresh clone started with ``DEBUG=0``), the pages still work: their static
URLs are the files' plain names, which WhiteNoise serves from the apps' static folders
(``WHITENOISE_USE_FINDERS``), and a system check says to run collectstatic.
"""

from __future__ import annotations

from django.core.checks import Warning, register
from django.core.files.storage import storages
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.collected = self.read_manifest() is not None

    def stored_name(self, name: str) -> str:
        if not self.collected:
            return name
        return super().stored_name(name)


@register("staticfiles", deploy=True)
def static_files_collected(app_configs, **kwargs) -> list[Warning]:
    storage = storages["staticfiles"]
    if isinstance(storage, StaticStorage) and not storage.collected:
        return [
            Warning(
                "Static files have not been collected: pages link to uncompressed files "
                "without long-lived caching.",
                hint="Run `manage.py collectstatic --noinput` (again after each upgrade).",
                id="crm.W001",
            )
        ]
    return []
