"""The API's routers, one module per area."""

from tracer.api.routes import (
    account,
    admin,
    datasets,
    domains,
    feedback,
    predict,
    retraining,
    training,
)

ROUTERS = (predict.router, domains.router, datasets.router, training.router,
           feedback.router, retraining.router, account.router, admin.router)
