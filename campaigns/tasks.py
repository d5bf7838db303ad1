"""Background work for campaigns: the opt-out confirmation, after the webhook answered."""

from django_tasks import task


@task()
def opt_out_confirm(room_id: str, sender_id: str) -> str:
    from campaigns.optout import opt_out_confirm_send

    return opt_out_confirm_send(room_id=room_id, sender_id=sender_id or None)
