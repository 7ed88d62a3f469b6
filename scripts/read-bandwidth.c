// How fast this machine reads memory: T threads sum one buffer of MiB mebibytes, seven times,
// and each pass prints its rate. Decoding a large model on the CPU reads every weight it uses
// once a token, so tokens/s × bytes a token near this rate means decoding runs at the memory's
// speed, and two dtypes' rates then stand in the ratio of their bytes (docs/quantization.md,
// "What bounds the ratio"). Not part of the product; a C compiler is all it needs:
//   cc -O3 -pthread scripts/read-bandwidth.c -o /tmp/read-bandwidth && /tmp/read-bandwidth 1400 2
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t *words;
static size_t count;
static int threads;
static uint64_t sums[64];  // written by the threads, so the sums are not optimised away

static void *sum_part(void *arg) {
  const size_t t = (size_t)arg, begin = count / threads * t, end = count / threads * (t + 1);
  uint64_t s = 0;  // integer sums vectorise at -O3 (float sums would need -ffast-math)
  for (size_t i = begin; i < end; i++) s += words[i];
  sums[t] = s;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3 || atol(argv[1]) < 1 || atoi(argv[2]) < 1 || atoi(argv[2]) > 64) {
    fprintf(stderr, "usage: %s MIB THREADS (THREADS 1 to 64)\n", argv[0]);
    return 2;
  }
  const size_t bytes = (size_t)atol(argv[1]) << 20;
  threads = atoi(argv[2]);
  count = bytes / sizeof(uint64_t);
  words = malloc(bytes);
  if (!words) {
    fprintf(stderr, "%s: cannot allocate %s MiB\n", argv[0], argv[1]);
    return 1;
  }
  memset(words, 1, bytes);  // touch every page before timing
  for (int pass = 0; pass < 7; pass++) {
    struct timespec a, b;
    pthread_t ids[64];
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, sum_part, (void *)(size_t)t);
    for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    const double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
    printf("%s MiB, %d threads: %.1f GB/s\n", argv[1], threads, (double)bytes / s / 1e9);
  }
  free(words);
  return 0;
}
