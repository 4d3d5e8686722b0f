from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from crm.api.envelope import ok


class EnvelopeLimitOffsetPagination(LimitOffsetPagination):
    """``offset``/``limit`` pages in the envelope: ``data = {count, next, previous, results}``."""

    default_limit = 20
    max_limit = 100

    def get_paginated_response(self, data: list) -> Response:
        return ok(
            {
                "count": self.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )


def paginated(view, queryset, serializer_class) -> Response:
    paginator = EnvelopeLimitOffsetPagination()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
