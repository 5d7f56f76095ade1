from django.apps import AppConfig


class GregoryDevConfig(AppConfig):
    name = "gregory_dev"
    verbose_name = "gregory-train development tools"
