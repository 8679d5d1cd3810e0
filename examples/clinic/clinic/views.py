"""Views that exercise every error category, a slow endpoint and an N+1 endpoint.

They log and raise with patient data on purpose: the example shows that otel_clinic keeps it out of telemetry.
"""
import json
import logging
import time
import urllib.request
from datetime import datetime, timezone

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

import otel_clinic
from clinic.models import Appointment, Patient, Prescription

log = logging.getLogger("clinic")


def _body(request: HttpRequest) -> dict:
    try:
        return json.loads(request.body or b"{}")
    except ValueError:
        raise ValidationError("request body is not JSON")


def _patient_json(p: Patient) -> dict:
    return {"id": p.pk, "mrn": p.mrn, "first_name": p.first_name, "last_name": p.last_name}


@csrf_exempt
def patients(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        data = _body(request)
        missing = [f for f in ("mrn", "first_name", "last_name") if not data.get(f)]
        if missing:
            log.info("rejected patient %s %s: missing %s", data.get("first_name"), data.get("last_name"), missing)
            return JsonResponse({"error": "missing fields", "fields": missing}, status=400)
        try:
            with transaction.atomic():
                patient = Patient.objects.create(
                    mrn=data["mrn"], first_name=data["first_name"], last_name=data["last_name"],
                    ssn=data.get("ssn", ""), email=data.get("email", ""), phone=data.get("phone", ""),
                    date_of_birth=data.get("dob") or None,
                )
        except IntegrityError:
            log.warning("duplicate patient MRN %s (patient %s %s)", data["mrn"], data["first_name"], data["last_name"])
            return JsonResponse({"error": "patient already exists"}, status=409)
        otel_clinic.record_patient_operation("create")
        log.info("created patient %s %s (MRN %s, SSN %s)", patient.first_name, patient.last_name, patient.mrn, patient.ssn)
        return JsonResponse(_patient_json(patient), status=201)
    otel_clinic.record_patient_operation("read")
    return JsonResponse({"patients": [_patient_json(p) for p in Patient.objects.order_by("pk")[:50]]})


def patient_search(request: HttpRequest) -> JsonResponse:
    name = request.GET.get("name", "")
    otel_clinic.record_patient_operation("search")
    log.info("patient search for name=%s", name)
    found = Patient.objects.filter(last_name__icontains=name)[:20] if name else []
    return JsonResponse({"patients": [_patient_json(p) for p in found]})


def patient_detail(request: HttpRequest, pk: int) -> JsonResponse:
    try:
        patient = Patient.objects.get(pk=pk)
    except Patient.DoesNotExist:
        raise Http404(f"no patient {pk}")
    otel_clinic.record_patient_operation("read")
    return JsonResponse(_patient_json(patient))


def patient_by_mrn(request: HttpRequest, mrn: str) -> JsonResponse:
    patient = Patient.objects.filter(mrn=mrn).first()
    if patient is None:
        log.info("lookup miss for MRN %s", mrn)
        return JsonResponse({"error": "not found"}, status=404)
    return JsonResponse(_patient_json(patient))


@csrf_exempt
def book_appointment(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"appointments": Appointment.objects.count()})
    data = _body(request)
    try:
        patient = Patient.objects.get(pk=data.get("patient_id"))
    except (Patient.DoesNotExist, ValueError, TypeError):
        return JsonResponse({"error": "unknown patient"}, status=422)
    starts_at = datetime.fromisoformat(data.get("starts_at") or "2030-01-01T09:00:00+00:00")
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=timezone.utc)
    # An IntegrityError escaping the view on a double-booking shows the conflict category from an exception.
    appointment = Appointment.objects.create(patient=patient, starts_at=starts_at, kind=data.get("kind", "consultation"),
                                             notes=data.get("notes", ""))
    otel_clinic.record_appointment_booked(appointment.kind)
    return JsonResponse({"id": appointment.pk}, status=201)


def appointments_report(request: HttpRequest) -> JsonResponse:
    """Deliberate N+1: one query for appointments, then one per appointment for its patient."""
    rows = [{"id": a.pk, "patient": a.patient.last_name} for a in Appointment.objects.all()[:100]]
    return JsonResponse({"rows": len(rows)})


@csrf_exempt
def create_prescription(request: HttpRequest) -> JsonResponse:
    data = _body(request)
    if not data.get("drug"):
        raise ValidationError(f"prescription for patient {data.get('patient_name', '?')} has no drug")
    patient = Patient.objects.filter(pk=data.get("patient_id")).first()
    if patient is None:
        return JsonResponse({"error": "unknown patient"}, status=422)
    Prescription.objects.create(patient=patient, drug=data["drug"], dosage=data.get("dosage", ""))
    otel_clinic.record_prescription_created()
    return JsonResponse({"ok": True}, status=201)


def protected_record(request: HttpRequest, pk: int) -> JsonResponse:
    if request.headers.get("Authorization") != "Bearer clinic-demo-token":
        if "Authorization" not in request.headers:
            return JsonResponse({"error": "authentication required"}, status=401)
        raise PermissionDenied("token not allowed for this record")
    return JsonResponse({"record": pk})


def lab_results(request: HttpRequest, pk: int) -> JsonResponse:
    """Calls an upstream service; when it is unreachable the failure is a 502 external_service error."""
    try:
        with urllib.request.urlopen(settings.CLINIC_UPSTREAM_URL + f"results/{pk}", timeout=0.5) as response:
            return JsonResponse({"results": response.read().decode()[:100]})
    except OSError as exc:
        log.error("lab results upstream failed for record %s: %s", pk, exc)
        return JsonResponse({"error": "lab service unavailable"}, status=502)


def slow(request: HttpRequest) -> JsonResponse:
    delay_ms = min(float(request.GET.get("ms", "600")), 5000)
    time.sleep(delay_ms / 1000)
    return JsonResponse({"slept_ms": delay_ms})


def timeout(request: HttpRequest) -> JsonResponse:
    raise TimeoutError("lab system timed out while fetching results")


def rate_limited(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"error": "too many requests"}, status=429, headers={"Retry-After": "30"})


def boom(request: HttpRequest) -> JsonResponse:
    patient = request.GET.get("patient", "Jane Roe")
    raise RuntimeError(f"unexpected failure while processing patient: {patient}")


def cached_lookup(request: HttpRequest, key: str) -> JsonResponse:
    value = cache.get(f"lookup:{key}")
    if value is None:
        value = {"computed_at": time.time()}
        cache.set(f"lookup:{key}", value, 60)
    return JsonResponse(value)
