"""The provider's Airflow plugins: the receiver of Livepeer's webhooks (:mod:`.livepeer`)."""
