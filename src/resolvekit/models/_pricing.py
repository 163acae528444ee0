"""Token prices: your own table first, then the genai-prices catalogue, else 0."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["DEFAULT_PRICES", "Price", "cost", "price_for"]


@dataclass(kw_only=True, frozen=True)
class Price:
    """What a model costs, per million tokens."""

    input: float
    """Per 1M prompt tokens."""
    output: float
    """Per 1M completion tokens."""


DEFAULT_PRICES: Mapping[str, Price] = MappingProxyType({})
"""Empty: list prices come from the ``genai-prices`` package. Kept so that code which extends
it (``{**DEFAULT_PRICES, "my-model": Price(...)}``) still works."""

_FALLBACK_PROVIDER = "openai"
"""The catalogue's provider for a server it does not know (self-hosted, a gateway): a model
named like one of OpenAI's is priced as OpenAI's; any other name is unknown and costs 0."""


def price_for(model: str, prices: Mapping[str, Price]) -> Price | None:
    """The price of ``model``: an exact key, else the longest key it extends with ``-...``.

    ``gpt-4.1-mini-2025-04-14`` is priced as ``gpt-4.1-mini``, never as ``gpt-4.1``.
    """
    if model in prices:
        return prices[model]
    matches = [key for key in prices if model.startswith(key + "-")]
    return prices[max(matches, key=len)] if matches else None


def cost(
    names: Sequence[str],
    *,
    prompt_tokens: int,
    completion_tokens: int,
    prices: Mapping[str, Price],
    api_url: str,
) -> float:
    """The cost in USD of one request.

    Args:
        names: the model's names, most trusted first (the one configured, then the one the
            server reported); empty names are skipped.
        prompt_tokens: tokens in the prompt.
        completion_tokens: tokens generated.
        prices: your own per-1M-token prices (see :func:`price_for`); they win.
        api_url: the server, which picks the catalogue's provider (OpenAI's when the
            catalogue does not know the server).

    Returns:
        The first price found for any name in ``prices``, else in the ``genai-prices``
        catalogue, applied to the token counts; 0 when no name is priced (or the package is
        not installed).
    """
    if prompt_tokens == 0 and completion_tokens == 0:
        return 0.0
    for name in filter(None, names):
        price = price_for(name, prices)
        if price is not None:
            return (prompt_tokens * price.input + completion_tokens * price.output) / 1e6
    for name in filter(None, names):
        found = _catalogue_cost(name, prompt_tokens, completion_tokens, api_url)
        if found is not None:
            return found
    return 0.0


def _catalogue_cost(
    model: str, prompt_tokens: int, completion_tokens: int, api_url: str
) -> float | None:
    """The cost of ``model`` at ``api_url`` by the ``genai-prices`` catalogue, if it has one."""
    try:
        import genai_prices
        from genai_prices.data_snapshot import get_snapshot
    except ImportError:  # the openai extra brings it; without it, no catalogue
        return None
    try:
        provider = get_snapshot().find_provider(None, None, api_url).id
    except LookupError:
        provider = _FALLBACK_PROVIDER
    usage = genai_prices.Usage(input_tokens=prompt_tokens, output_tokens=completion_tokens)
    try:
        calculation = genai_prices.calc_price(usage, model, provider_id=provider)
    except LookupError:
        return None
    return float(calculation.total_price)
