"""Quick replies (canned responses): text an agent inserts with `/shortcut`, with
{{placeholders}} filled from the room's lead and the agent."""

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models


class QuickReply(models.Model):
    shortcut = models.SlugField(
        max_length=50, unique=True, help_text="What the agent types after '/': janji-bayar."
    )
    title = models.CharField(max_length=200)
    text = models.TextField(
        validators=[MaxLengthValidator(4096)],
        help_text="Placeholders: {{name}}, {{outstanding}} (as Rp 12.500.000), {{agent}}, "
        "{{phone}} and any lead field ({{loan_type}}, {{leads_status}}, ...). A placeholder "
        "without a value is left for the agent to fill.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "quick_replies"
        ordering = ["shortcut"]
        verbose_name_plural = "quick replies"

    def __str__(self) -> str:
        return f"/{self.shortcut}"
