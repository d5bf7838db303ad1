from django.apps import AppConfig


class RoomsConfig(AppConfig):
    name = "rooms"
    verbose_name = "Rooms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Segments of leads by their room's labels, team and the customer's last message:
        # rooms knows rooms, leads asks through its filter registry (leads must not import
        # rooms).
        from leads.selectors import register_lead_filter
        from rooms.selectors import (
            CUSTOMER_MESSAGE_FILTERS,
            lead_filter_customer_message,
            lead_filter_customer_message_clean,
            lead_filter_room_label,
            lead_filter_team,
        )

        register_lead_filter("room_label", lead_filter_room_label)
        register_lead_filter("team", lead_filter_team)
        register_lead_filter(
            CUSTOMER_MESSAGE_FILTERS,
            lead_filter_customer_message,
            clean=lead_filter_customer_message_clean,
        )

        # A supervisor raised an agent's capacity in admin: the agent's team queues are
        # handed out after that commit (boztell's users admin calls the service).
        from boztell.services import CAPACITY_LISTENERS
        from rooms.assignment import teams_hand_out_on_commit

        if teams_hand_out_on_commit not in CAPACITY_LISTENERS:
            CAPACITY_LISTENERS.append(teams_hand_out_on_commit)
