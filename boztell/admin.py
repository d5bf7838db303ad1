"""Admin for users: create agents and supervisors, set roles, issue and revoke API tokens."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.html import format_html

from boztell.models import User
from boztell.services import (
    user_access_changed,
    user_capacity_changed,
    user_token_issue,
    user_token_revoke,
)


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("username", "display_name", "role")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "max_open_rooms" in self.fields:
            self.fields["max_open_rooms"].required = False  # left empty: unchanged

    def clean_max_open_rooms(self):
        value = self.cleaned_data.get("max_open_rooms")
        return self.instance.max_open_rooms if value is None else value


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = (
        "username",
        "display_name",
        "role",
        "is_active",
        "max_open_rooms",
        "has_token",
        "date_joined",
    )
    list_editable = ("max_open_rooms",)
    list_filter = ("role", "is_active", "is_superuser")
    search_fields = ("username", "display_name", "email")
    ordering = ("username",)
    readonly_fields = ("id", "date_joined", "last_login", "updated_at", "api_token")
    filter_horizontal = ()
    fieldsets = (
        (None, {"fields": ("id", "username", "password")}),
        ("Profile", {"fields": ("display_name", "email", "role", "is_active")}),
        ("Assignment", {"fields": ("max_open_rooms",)}),
        ("API", {"fields": ("api_token",)}),
        ("Dates", {"fields": ("last_login", "date_joined", "updated_at")}),
    )
    superuser_fieldsets = (("Superuser", {"fields": ("is_superuser",)}),)
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "display_name", "role", "password1", "password2"),
            },
        ),
    )
    actions = ["issue_api_token", "revoke_api_token"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and request.user.is_superuser:
            fieldsets = fieldsets + self.superuser_fieldsets
        return fieldsets

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("auth_token")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"is_active", "role", "is_superuser"} & set(form.changed_data):
            user_access_changed(user=obj)
        if change and "max_open_rooms" in form.changed_data:
            user_capacity_changed(user=obj)

    @admin.display(boolean=True, description="API token")
    def has_token(self, obj):
        return hasattr(obj, "auth_token")

    @admin.display(description="API token")
    def api_token(self, obj):
        if not hasattr(obj, "auth_token"):
            return "None. Use the action 'Issue API token' in the user list."
        key = obj.auth_token.key
        return format_html("<code>{}…</code> issued {}", key[:6], obj.auth_token.created)

    @admin.action(description="Issue API token (replaces any existing token)")
    def issue_api_token(self, request, queryset):
        for user in queryset:
            token = user_token_issue(user=user)
            self.message_user(
                request,
                format_html(
                    "API token for {}: <code>{}</code>. Copy it now; it is not shown again.",
                    user.username,
                    token.key,
                ),
                messages.SUCCESS,
            )

    @admin.action(description="Revoke API token")
    def revoke_api_token(self, request, queryset):
        revoked = sum(user_token_revoke(user=user) for user in queryset)
        self.message_user(request, f"Revoked {revoked} API token(s).", messages.SUCCESS)
