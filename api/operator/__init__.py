"""What operators use: the funnel, the dashboard, prompt variants, conversation review, metrics.

Every endpoint here needs the operator key (`CHATPAY_OPERATOR_KEY`, see `api.operator.auth`);
without a configured key the whole surface answers 404, as if it did not exist.
"""
