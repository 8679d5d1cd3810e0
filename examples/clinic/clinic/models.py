from django.db import models


class Patient(models.Model):
    mrn = models.CharField(max_length=32, unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField(null=True, blank=True)
    ssn = models.CharField(max_length=11, blank=True)
    email = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=32, blank=True)


class Appointment(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="appointments")
    starts_at = models.DateTimeField()
    kind = models.CharField(max_length=32, default="consultation")
    notes = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "starts_at"], name="one_appointment_per_slot")]


class Prescription(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="prescriptions")
    drug = models.CharField(max_length=200)
    dosage = models.CharField(max_length=100)
