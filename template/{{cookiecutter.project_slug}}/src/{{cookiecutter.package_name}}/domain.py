"""The domain template: what one record looks like, what is predicted, how it is judged.

The shipped sample is synthetic (``scripts/make_sample.py``): subscription customers
observed on a day, and whether they cancelled within 30 days. Replace the record schema,
the label and the reference data with your own; keep the label out of the record.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import BaseModel, Field
from tracer import Baseline, Domain

from {{ cookiecutter.package_name }} import data_path


class Customer(BaseModel):
    """One subscription customer on the day they were observed."""

    tenure_months: int = Field(ge=0, description="months since the customer signed up")
    monthly_spend: float = Field(ge=0, description="what the customer pays per month")
    support_tickets: int = Field(ge=0, description="support tickets in the last 30 days")
    logins_last_30d: int = Field(ge=0, description="logins in the last 30 days")
    late_payments: int = Field(ge=0, description="late payments in the last 12 months")
    plan: Literal["basic", "standard", "premium"] = Field(description="subscription plan")


def load_reference() -> pd.DataFrame:
    """The reference data: records, the ordering column and the label."""
    return pd.read_csv(data_path("sample.csv"))


DOMAIN = Domain(
    name="{{ cookiecutter.namespace }}/{{ cookiecutter.template_name }}",
    version="0.1.0",
    title={{ cookiecutter.title | tojson }},
    description=(
{%- for part in (cookiecutter.description | wordwrap(70, wrapstring="\n")).split("\n") %}
        {{ (part ~ ("" if loop.last else " ")) | tojson }}
{%- endfor %}
    ),
    record=Customer,
    label="churned",
    order_by="observed_day",
    load_reference=load_reference,
    primary_metric="roc_auc",
    certification_threshold=0.7,
    positive_label=1,
    outcome="the customer cancels",
    baseline=Baseline("two or more support tickets",
                      lambda r: (r["support_tickets"] >= 2).astype(float)),
    # stumps (depth 1) suit a few hundred records; deepen trees when you have more data
    train_params={"max_depth": 1, "eta": 0.1, "min_child_weight": 5.0, "num_boost_round": 300},
    tags=("{{ cookiecutter.namespace }}", "subscriptions"),
    license="{{ cookiecutter.license }}",
)
