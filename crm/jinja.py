"""The web app's pages render with Jinja2 (``templates/jinja2``); Django's template language
stays for the admin and the API docs page.

A page's template costs most of a page's time: Jinja2 compiles a template to Python once and
renders it in a fraction of the time Django's engine takes for the same rows (the leads list's
50 rows, the pipeline's cards, the week's grid).

What Django's engine gives and Jinja2 does not, this module adds:

- ``url(name, *args)`` and ``static(path)`` as functions, the ``{% htmx_script %}`` of
  django-htmx as ``htmx_script()``, and Django's filters the templates use, with their output;
  date and time filters show an aware date-time in the current time zone, as Django's do.
- Partials: ``render(request, "leads/list.html#lead_table", ...)`` renders the block
  ``lead_table`` of the page alone, for an HTMX request that swaps that part of the page.
- ``csrf_input`` and ``csrf_token`` masked once per page, not once per use: the pipeline has a
  form on each of its cards, and each new mask costs 32 random characters.
- What the view passes wins over the context processors (Django's Jinja2 backend lets the
  processors win), as in Django's templates.
- The ``template_rendered`` signal, so the test client's ``response.context`` and
  ``assertTemplateUsed`` work as with Django's engine.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import jinja2
from django.middleware.csrf import get_token
from django.template import defaultfilters
from django.template.backends import jinja2 as backend
from django.templatetags.static import static
from django.test.signals import template_rendered
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django_htmx.jinja import htmx_script

from crm import filters


@functools.lru_cache(maxsize=256)
def _fixed_url(name: str, prefix: str) -> str:
    return reverse(name)


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """``{{ url("leads:detail", lead.slug) }}`` is ``{% url "leads:detail" lead.slug %}``; a
    URL without arguments is resolved once (per script prefix), one argument by ``url_of``."""
    if not kwargs and len(args) <= 1:
        if not args:
            return _fixed_url(name, get_script_prefix())
        return filters.url_of(args[0], name)
    return reverse(name, args=args or None, kwargs=kwargs or None)


def _local(value: Any) -> Any:
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def date(value: Any, fmt: str | None = None) -> str:
    return defaultfilters.date(_local(value), fmt)


def time(value: Any, fmt: str | None = None) -> str:
    return defaultfilters.time(_local(value), fmt)


@jinja2.pass_context
def htmx(context: jinja2.runtime.Context) -> str:
    return htmx_script(nonce=context.get("csp_nonce"))


def plural(n: int, singular: str, plural: str) -> str:
    """``ngettext`` with the count put in: ``plural(n, "%(n)s lead", "%(n)s leads")``."""
    return ngettext(singular, plural, n) % {"n": f"{n:,}" if isinstance(n, int) else n}


def environment(**options: Any) -> jinja2.Environment:
    # A missing variable renders empty in development too (Django's backend would print it
    # there as "{{ name }}"), as in production and as Django's templates do.
    options["undefined"] = jinja2.Undefined
    env = jinja2.Environment(**options)
    env.globals.update(
        {
            "url": url,
            "static": static,
            "htmx_script": htmx,
            "gettext": gettext,
            "ngettext": ngettext,
            "plural": plural,
        }
    )
    env.filters.update(
        {
            "date": date,
            "time": time,
            "day": filters.day,
            "hm": filters.hm,
            "stamp": filters.stamp,
            "iso": filters.iso,
            "when": filters.when,
            "call_length": filters.call_length,
            "phone": filters.phone,
            "tel": filters.tel,
            "url_of": filters.url_of,
            "pluralize": defaultfilters.pluralize,
            "truncatechars": defaultfilters.truncatechars,
            "linebreaksbr": defaultfilters.linebreaksbr,
            "yesno": defaultfilters.yesno,
            "filesizeformat": defaultfilters.filesizeformat,
            "urlencode": defaultfilters.urlencode,
        }
    )
    return env


def _csrf(request) -> tuple[str, str]:
    """The page's ``csrf_input`` and ``csrf_token``: lazy, so the token is read (which sends the
    CSRF cookie) only if the page shows it, and masked once for all its uses."""
    token = functools.cache(functools.partial(get_token, request))
    field = functools.cache(
        lambda: format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token())
    )
    return lazy(field, SafeString)(), lazy(token, str)()


class Pages(backend.Jinja2):
    """Django's Jinja2 backend, with partials (``template#block``) and the test signal."""

    def get_template(self, template_name: str) -> Page:
        name, _, block = template_name.partition("#")
        return Page(super().get_template(name).template, self, block or None)


class Page(backend.Template):
    def __init__(self, template: jinja2.Template, backend: Pages, block: str | None) -> None:
        super().__init__(template, backend)
        self.block = block
        self.name = f"{template.name}#{block}" if block else template.name

    def render(self, context: dict[str, Any] | None = None, request=None) -> str:
        context = {} if context is None else context
        if request is not None:
            # What the view passes wins over the context processors, as in Django's templates.
            shown = {"request": request}
            shown["csrf_input"], shown["csrf_token"] = _csrf(request)
            for context_processor in self.backend.template_context_processors:
                shown.update(context_processor(request))
            context = shown | context
        template_rendered.send(sender=self, template=self, context=context)
        if self.block is None:
            return self.template.render(context)
        render_block = self.template.blocks[self.block]
        return "".join(render_block(self.template.new_context(context)))
