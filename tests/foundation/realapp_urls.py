"""A URLconf shaped like real apps: a 500 handler that itself fails, DRF-router-style regex routes, a root
route, a POST-only view."""
from django.http import HttpResponse, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.http import require_POST


def home(request):
    return HttpResponse("home")


def boom(request):
    raise RuntimeError("view failed for patient 078-05-1120")


def patient_detail(request, *args, **kwargs):
    return JsonResponse({"ok": True})


def patient_list(request, format=None):
    return JsonResponse({"ok": True})


@require_POST
def post_only(request):
    return HttpResponse("posted")


def handler500(request):  # the error page itself fails (a missing staticfiles manifest entry, say)
    raise ValueError("Missing staticfiles manifest entry for 'css/app.css'")


# What DRF's DefaultRouter registers for a ViewSet with lookup_field="external_id", format suffixes on.
router_patterns = [
    re_path(r"^patient/$", patient_list),
    re_path(r"^patient\.(?P<format>[a-z0-9]+)/?$", patient_list),
    re_path(r"^patient/(?P<external_id>[^/.]+)/$", patient_detail),
    re_path(r"^patient/(?P<external_id>[^/.]+)\.(?P<format>[a-z0-9]+)/?$", patient_detail),
]

urlpatterns = [
    path("", home),
    path("boom/", boom),
    path("post-only/", post_only),
    path("api/v1/", include(router_patterns)),
    re_path(r"^legacy/(?P<pk>[0-9]+)/(\w+)/$", patient_detail),
]
