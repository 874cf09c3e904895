"""Operations: health and readiness, metrics, log lines, the model listing."""
