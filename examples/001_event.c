/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.18 (Event).
 * Python: listener(event) prints "Waiting for event", awaits event.wait() and prints "Event
 * processed"; main creates the asyncio.Event, spawns the listener with create_task, sleeps 1 s,
 * sets the event and awaits the listener.
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static int listener(void *arg)
{
	weft_event *event = arg;

	printf("Waiting for event\n");
	int err = weft_event_wait(event);
	if (err)
		return err;
	printf("Event processed\n");
	return 0;
}

static int async_main(void *arg)
{
	weft_event *myevent;
	weft_task *handler;
	int status;

	(void)arg;
	check(weft_event_new(NULL, &myevent), "event_new");
	/* Spawn a task to wait until the event is set. */
	check(weft_task_spawn(&handler, listener, myevent, NULL), "spawn");
	/* Sleep for 1 second and set the event. */
	check(weft_sleep(WEFT_SEC), "sleep");
	check(weft_event_set(myevent), "event_set");
	/* Wait until processing is complete. */
	check(weft_task_join(handler, &status), "join");
	check(status, "listener");
	check(weft_event_free(myevent), "event_free");
	return 0;
}

int main(void)
{
	int err = weft_run(async_main, NULL, NULL);
	if (err < 0) {
		fprintf(stderr, "error: %s\n", weft_strerror(err));
		return 1;
	}
	return 0;
}
