from django.apps import AppConfig


class GregoryConfig(AppConfig):
    name = "gregory"
    default_auto_field = "django.db.models.BigAutoField"
