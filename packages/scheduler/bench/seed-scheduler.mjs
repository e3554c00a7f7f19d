// The seed note's Scheduler ("Task Scheduler System: Concurrency Control with
// Dependencies"), reimplemented faithfully as the benchmark baseline. Two changes,
// neither touching the algorithm: MAX_CONCURRENT_TASKS is a constructor argument
// instead of a module constant, and the per-task console.log is gone (the benchmark
// measures scheduling, not terminal output).
export class SeedScheduler {
  constructor(tasks, maxConcurrentTasks) {
    this.tasks = tasks; // Task definitions
    this.maxConcurrentTasks = maxConcurrentTasks;
    this.running = 0; // Current running task count
    this.results = new Map(); // taskName => result
    this.taskPromises = new Map(); // taskName => Promise
  }

  async run() {
    const MAX_CONCURRENT_TASKS = this.maxConcurrentTasks;
    const pendingTasks = new Set(Object.keys(this.tasks));
    const taskQueue = [];

    while (pendingTasks.size > 0) {
      // Check which tasks can run
      for (const taskName of [...pendingTasks]) {
        const task = this.tasks[taskName];

        // Check if all dependencies are resolved
        const dependenciesResolved = task.dependsOn.every((dep) => this.results.has(dep));

        // Start task if dependencies met and capacity available
        if (dependenciesResolved && this.running < MAX_CONCURRENT_TASKS) {
          pendingTasks.delete(taskName);
          this.running++;

          // Get dependency results
          const depResults = task.dependsOn.map((dep) => this.results.get(dep));

          // Execute task
          const taskPromise = task.run(...depResults).then((result) => {
            this.results.set(taskName, result);
            this.running--;
          });

          taskQueue.push(taskPromise);
        }
      }

      // Wait for at least one task to complete before next iteration
      if (this.running >= MAX_CONCURRENT_TASKS || pendingTasks.size > 0) {
        await Promise.race(taskQueue);
      }
    }

    // Wait for all remaining tasks to complete
    await Promise.all(taskQueue);
    return this.results;
  }
}
