"""Operations: health, model listing, logging hygiene."""
