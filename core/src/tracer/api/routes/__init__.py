"""The API's routers, one module per area."""

from tracer.api.routes import account, admin, datasets, domains, feedback, predict, training

ROUTERS = (predict.router, domains.router, datasets.router, training.router,
           feedback.router, account.router, admin.router)
