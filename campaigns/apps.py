from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self):
        # Statuses and replies reach recipient rows through messaging's listener hooks
        # (messaging does not import campaigns: dependencies point one way).
        from campaigns.tracking import register

        register()
