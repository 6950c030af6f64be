"""Reads about accounts, always within the reader's contract."""

from django.db.models import QuerySet

from mamori.accounts.models import Account, ApiToken


def accounts_visible_to(account: Account) -> QuerySet[Account]:
    return Account.objects.filter(contract_id=account.contract_id).select_related("user")


def api_tokens_of(account: Account) -> QuerySet[ApiToken]:
    """An account's own tokens: nobody else's, not even another administrator's."""
    return ApiToken.objects.filter(account=account)


def api_token_get(account: Account, pk: int) -> ApiToken:
    """One of the account's own tokens; ``ApiToken.DoesNotExist`` otherwise."""
    return api_tokens_of(account).select_related("account__contract").get(pk=pk)
