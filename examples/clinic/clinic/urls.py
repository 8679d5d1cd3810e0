from django.urls import include, path

from clinic import views

urlpatterns = [
    path("patients/", views.patients, name="patients"),
    path("patients/search/", views.patient_search, name="patient-search"),
    path("patients/<int:pk>/", views.patient_detail, name="patient-detail"),
    path("patients/by-mrn/<str:mrn>/", views.patient_by_mrn, name="patient-by-mrn"),
    path("appointments/", views.book_appointment, name="appointments"),
    path("appointments/report/", views.appointments_report, name="appointments-report"),
    path("prescriptions/", views.create_prescription, name="prescriptions"),
    path("records/<int:pk>/", views.protected_record, name="protected-record"),
    path("lab-results/<int:pk>/", views.lab_results, name="lab-results"),
    path("slow/", views.slow, name="slow"),
    path("timeout/", views.timeout, name="timeout"),
    path("rate-limited/", views.rate_limited, name="rate-limited"),
    path("boom/", views.boom, name="boom"),
    path("cache/<str:key>/", views.cached_lookup, name="cache"),
    # Probes for the PHI leak audit (otel-clinic audit): careless code on purpose, see clinic/audit_views.py.
    path("audit/", include("clinic.audit_views")),
]
