"""Load for the weather tweets API, faithful to the original lab's Locust script.

Each simulated user waits 0.1-0.5 s, then posts one message to POST /process with a
random country from the original list, a random weather value and a short description.
Any non-2xx answer is recorded as a failure.

Step load: set LOCUST_STEP_LOAD=1 (see README.md). Locust uses any LoadTestShape it
finds in the file, so the shape is only defined when asked for; it then replaces
--users/--spawn-rate/--run-time.
"""

import os
import random

from locust import HttpUser, LoadTestShape, between, task

COUNTRIES = ["USA", "GT", "MX", "CR", "RD", "NZ", "ES", "FR", "DE", "IT", "PT", "BR", "AR"]
WEATHERS = ["Lluvioso", "Nublado", "Soleado"]


def random_message() -> dict[str, str]:
    return {
        "description": f"Clima en {random.choice(COUNTRIES)} {random.randint(1, 100)}",
        "country": random.choice(COUNTRIES),
        "weather": random.choice(WEATHERS),
    }


class WeatherTweetUser(HttpUser):
    wait_time = between(0.1, 0.5)

    @task
    def process(self) -> None:
        # catch_response lets us decide success ourselves: only 2xx counts as success.
        with self.client.post("/process", json=random_message(), name="/process", catch_response=True) as response:
            if 200 <= response.status_code < 300:
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")


if os.environ.get("LOCUST_STEP_LOAD") == "1":

    class StepLoadShape(LoadTestShape):
        """Adds STEP_USERS users every STEP_DURATION_S seconds, up to STEP_MAX_USERS, then stops after STEP_TOTAL_S."""

        step_users = int(os.environ.get("STEP_USERS", "25"))
        step_duration_s = int(os.environ.get("STEP_DURATION_S", "15"))
        max_users = int(os.environ.get("STEP_MAX_USERS", "200"))
        total_s = int(os.environ.get("STEP_TOTAL_S", "120"))

        def tick(self):
            run_time = self.get_run_time()
            if run_time >= self.total_s:
                return None
            step = int(run_time // self.step_duration_s) + 1
            users = min(step * self.step_users, self.max_users)
            # Spawn each step's users within one second so steps are sharp.
            return users, self.step_users
