"""Reads about accounts, always within the reader's contract."""

from django.db.models import QuerySet

from mamori.accounts.models import Account, ApiToken, PermissionScheme


def accounts_visible_to(account: Account) -> QuerySet[Account]:
    """Accounts of the contract whose users are in the account's organization scope."""
    from mamori.directory.selectors import users_visible_to

    return Account.objects.filter(user__in=users_visible_to(account)).select_related("user")


def api_tokens_of(account: Account) -> QuerySet[ApiToken]:
    """An account's own tokens: nobody else's, not even another administrator's."""
    return ApiToken.objects.filter(account=account)


def api_token_get(account: Account, pk: int) -> ApiToken:
    """One of the account's own tokens; ``ApiToken.DoesNotExist`` otherwise."""
    return api_tokens_of(account).select_related("account__contract").get(pk=pk)


def schemes_of(account: Account) -> QuerySet[PermissionScheme]:
    return PermissionScheme.objects.filter(contract_id=account.contract_id).order_by("name")


def scheme_get(account: Account, pk: int) -> PermissionScheme:
    return schemes_of(account).get(pk=pk)
