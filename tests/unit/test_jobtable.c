/* Unit tests of server/jobtable.c and the in-memory queue of server/queue.c: the hash table by
 * id (add, find, remove, growth past its initial buckets, each() that frees what it is given)
 * and the dispatch heap (priority high first, then older created_at, then id), checked against
 * an independent reference: a sorted array of the same entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "server/jobtable.h"
#include "server/queue.h"

/* ---- helpers ---- */

/* A fixed-seed generator of our own, so that the random sequences are the same everywhere. */
static unsigned long long rng_state;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((rng_state >> 33) % n);
}

/* The reference order, written out independently of sv_jobent_before. */
static int ref_cmp(const void *pa, const void *pb)
{
    const sv_jobent *a = *(const sv_jobent *const *)pa, *b = *(const sv_jobent *const *)pb;
    if (a->priority != b->priority)
        return a->priority > b->priority ? -1 : 1;
    if (a->created_at != b->created_at)
        return a->created_at < b->created_at ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* Every parent comes before (or ties with) its children, and each entry knows its index. */
static void assert_heap_ok(const sv_jobheap *h)
{
    for (size_t i = 0; i < h->len; i++) {
        assert_int_equal(h->items[i]->heap_index, (int)i);
        if (i > 0)
            assert_false(sv_jobent_before(h->items[i], h->items[(i - 1) / 2]));
    }
}

/* ---- hash table ---- */

static void test_table_add_find_remove(void **state)
{
    (void)state;
    sv_jobtable t;
    assert_int_equal(sv_jobtable_init(&t), 0);
    assert_int_equal(sv_jobtable_count(&t), 0);
    assert_null(sv_jobtable_find(&t, "a"));

    sv_jobent a, b, c;
    sv_jobent_init(&a, "job-a", 0, 1.0);
    sv_jobent_init(&b, "job-b", 3, 2.0);
    sv_jobent_init(&c, "job-c", -1, 3.0);
    assert_int_equal(a.heap_index, -1);
    assert_string_equal(b.id, "job-b");
    assert_int_equal(b.priority, 3);
    assert_true(c.created_at == 3.0);

    sv_jobtable_add(&t, &a);
    sv_jobtable_add(&t, &b);
    sv_jobtable_add(&t, &c);
    assert_int_equal(sv_jobtable_count(&t), 3);
    assert_ptr_equal(sv_jobtable_find(&t, "job-a"), &a);
    assert_ptr_equal(sv_jobtable_find(&t, "job-b"), &b);
    assert_ptr_equal(sv_jobtable_find(&t, "job-c"), &c);
    assert_null(sv_jobtable_find(&t, "job-d"));
    assert_null(sv_jobtable_find(&t, "job-"));
    assert_null(sv_jobtable_find(&t, ""));

    sv_jobtable_remove(&t, &b);
    assert_int_equal(sv_jobtable_count(&t), 2);
    assert_null(sv_jobtable_find(&t, "job-b"));
    assert_ptr_equal(sv_jobtable_find(&t, "job-a"), &a);
    assert_ptr_equal(sv_jobtable_find(&t, "job-c"), &c);
    /* Removing what is not there changes nothing. */
    sv_jobtable_remove(&t, &b);
    assert_int_equal(sv_jobtable_count(&t), 2);
    /* It can come back. */
    sv_jobtable_add(&t, &b);
    assert_ptr_equal(sv_jobtable_find(&t, "job-b"), &b);
    assert_int_equal(sv_jobtable_count(&t), 3);
    sv_jobtable_free(&t);
    assert_int_equal(sv_jobtable_count(&t), 0);
    assert_null(sv_jobtable_find(&t, "job-a"));   /* a freed table is an empty one */
}

/* The ids ending alike, and far more of them than the initial buckets, so that chains collide
 * and the table doubles several times (1024 buckets, doubling past two entries a bucket). */
#define MANY 20000

static void test_table_growth(void **state)
{
    (void)state;
    sv_jobtable t;
    assert_int_equal(sv_jobtable_init(&t), 0);
    size_t nb0 = t.nbuckets;
    sv_jobent *e = calloc(MANY, sizeof *e);
    assert_non_null(e);
    char id[40];
    for (int i = 0; i < MANY; i++) {
        snprintf(id, sizeof id, "%012x0000abcdef", i);
        sv_jobent_init(&e[i], id, i % 7, (double)i);
        sv_jobtable_add(&t, &e[i]);
    }
    assert_int_equal(sv_jobtable_count(&t), MANY);
    assert_true(t.nbuckets >= nb0 * 8);   /* 20000 / 2 per bucket: at least 16384 */
    for (int i = 0; i < MANY; i++) {
        snprintf(id, sizeof id, "%012x0000abcdef", i);
        assert_ptr_equal(sv_jobtable_find(&t, id), &e[i]);
    }
    /* Every other one leaves; the rest are still found, the others not. */
    for (int i = 0; i < MANY; i += 2)
        sv_jobtable_remove(&t, &e[i]);
    assert_int_equal(sv_jobtable_count(&t), MANY / 2);
    for (int i = 0; i < MANY; i++) {
        snprintf(id, sizeof id, "%012x0000abcdef", i);
        if (i % 2)
            assert_ptr_equal(sv_jobtable_find(&t, id), &e[i]);
        else
            assert_null(sv_jobtable_find(&t, id));
    }
    sv_jobtable_free(&t);
    free(e);
}

typedef struct {
    sv_jobent ent;   /* first */
    int seen;
} owned;

typedef struct {
    int calls;
    long sum;
} each_acc;

static void free_entry(sv_jobent *e, void *data)
{
    each_acc *acc = data;
    acc->calls++;
    acc->sum += e->priority;
    memset(e, 0xa5, sizeof(owned));   /* a freed entry's hnext must not be read after fn */
    free(e);
}

static void test_table_each_frees(void **state)
{
    (void)state;
    sv_jobtable t;
    assert_int_equal(sv_jobtable_init(&t), 0);
    enum { N = 5000 };   /* past the first growth, so that chains hold several entries */
    long want = 0;
    for (int i = 0; i < N; i++) {
        owned *o = calloc(1, sizeof *o);
        assert_non_null(o);
        char id[40];
        snprintf(id, sizeof id, "j%d", i);
        sv_jobent_init(&o->ent, id, i, 0.0);
        sv_jobtable_add(&t, &o->ent);
        want += i;
    }
    each_acc acc = {0, 0};
    sv_jobtable_each(&t, free_entry, &acc);
    assert_int_equal(acc.calls, N);   /* each entry once */
    assert_int_equal(acc.sum, want);
    sv_jobtable_free(&t);   /* ASan: nothing leaked, nothing read after free */
}

/* ---- heap ---- */

static void test_heap_order(void **state)
{
    (void)state;
    sv_jobheap h = {0};
    assert_null(sv_jobheap_peek(&h));
    assert_null(sv_jobheap_pop(&h));
    assert_int_equal(sv_jobheap_len(&h), 0);

    /* Pushed in an order that is none of the expected one. */
    sv_jobent e[7];
    sv_jobent_init(&e[0], "b", 0, 10.0);
    sv_jobent_init(&e[1], "a", 0, 10.0);    /* ties with b: the id decides */
    sv_jobent_init(&e[2], "z", 5, 30.0);    /* highest priority first despite being newest */
    sv_jobent_init(&e[3], "y", 5, 20.0);    /* same priority, older: before z */
    sv_jobent_init(&e[4], "c", 0, 5.0);     /* older than a and b */
    sv_jobent_init(&e[5], "d", -3, 1.0);    /* negative priority: last although oldest */
    sv_jobent_init(&e[6], "x", 1, 100.0);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(sv_jobheap_push(&h, &e[i]), 0);
        assert_heap_ok(&h);
    }
    assert_int_equal(sv_jobheap_len(&h), 7);
    assert_true(sv_jobent_before(&e[3], &e[2]));
    assert_false(sv_jobent_before(&e[2], &e[3]));
    assert_true(sv_jobent_before(&e[1], &e[0]));
    assert_false(sv_jobent_before(&e[0], &e[0]));   /* strict */

    const char *want[] = {"y", "z", "x", "c", "a", "b", "d"};
    assert_ptr_equal(sv_jobheap_peek(&h), &e[3]);
    for (int i = 0; i < 7; i++) {
        sv_jobent *p = sv_jobheap_pop(&h);
        assert_non_null(p);
        assert_string_equal(p->id, want[i]);
        assert_int_equal(p->heap_index, -1);
        assert_heap_ok(&h);
    }
    assert_null(sv_jobheap_pop(&h));
    sv_jobheap_free(&h);
}

static void test_heap_remove_middle(void **state)
{
    (void)state;
    enum { N = 200 };
    sv_jobent e[N];
    sv_jobheap h = {0};
    rng_state = 7;
    for (int i = 0; i < N; i++) {
        char id[40];
        snprintf(id, sizeof id, "id%03d", i);
        sv_jobent_init(&e[i], id, (int)rnd(5) - 2, (double)rnd(50));
        assert_int_equal(sv_jobheap_push(&h, &e[i]), 0);
    }
    assert_heap_ok(&h);
    /* Removes entries from everywhere but the root and the last slot (the root and the
     * tail are the easy cases), checking the heap after each. */
    int removed[N] = {0};
    int n_removed = 0;
    while (n_removed < N / 2) {
        size_t len = sv_jobheap_len(&h);
        size_t at = 1 + rnd((unsigned)(len - 2));
        sv_jobent *victim = h.items[at];
        sv_jobheap_remove(&h, victim);
        assert_int_equal(victim->heap_index, -1);
        assert_int_equal(sv_jobheap_len(&h), len - 1);
        assert_heap_ok(&h);
        removed[victim - e] = 1;
        n_removed++;
    }
    /* What is left pops in the reference order. */
    sv_jobent *ref[N];
    size_t n = 0;
    for (int i = 0; i < N; i++)
        if (!removed[i])
            ref[n++] = &e[i];
    qsort(ref, n, sizeof ref[0], ref_cmp);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(sv_jobheap_pop(&h), ref[i]);
    assert_int_equal(sv_jobheap_len(&h), 0);
    sv_jobheap_free(&h);
}

/* The case that needs the sift up after the hole is filled: the last item belongs above the
 * hole's parent (it sits in another subtree). */
static void test_heap_remove_sifts_up(void **state)
{
    (void)state;
    /* Priorities laid out as a heap: index 0:100, 1:50, 2:90, 3:40, 4:45, 5:80, 6:85.
     * Removing index 3 (40) moves the last (85) under 50, where it must rise above it. */
    int prio[] = {100, 50, 90, 40, 45, 80, 85};
    sv_jobent e[7];
    sv_jobheap h = {0};
    for (int i = 0; i < 7; i++) {
        char id[8];
        snprintf(id, sizeof id, "p%d", prio[i]);
        sv_jobent_init(&e[i], id, prio[i], 0.0);
        assert_int_equal(sv_jobheap_push(&h, &e[i]), 0);
    }
    assert_heap_ok(&h);
    for (int i = 0; i < 7; i++)
        assert_ptr_equal(h.items[i], &e[i]);   /* the layout above, as pushed */
    sv_jobheap_remove(&h, &e[3]);
    assert_heap_ok(&h);
    assert_ptr_equal(h.items[1], &e[6]);       /* 85 rose above 50 */
    int want[] = {100, 90, 85, 80, 50, 45};
    for (int i = 0; i < 6; i++)
        assert_int_equal(sv_jobheap_pop(&h)->priority, want[i]);
    sv_jobheap_free(&h);
}

/* Push and pop at random, many entries with few distinct priorities and times so that ties
 * are common, against a sorted reference. */
static void test_heap_random_against_reference(void **state)
{
    (void)state;
    enum { N = 5000 };
    sv_jobent *e = calloc(N, sizeof *e);
    sv_jobent **ref = calloc(N, sizeof *ref);
    assert_non_null(e);
    assert_non_null(ref);
    sv_jobheap h = {0};
    size_t nref = 0, next = 0;
    long pops = 0;
    rng_state = 20261207;
    while (next < N || nref > 0) {
        int push = next < N && (nref == 0 || rnd(3) != 0);
        if (push) {
            char id[40];
            snprintf(id, sizeof id, "%08x", rnd(1u << 30));   /* ids in random order */
            sv_jobent_init(&e[next], id, (int)rnd(4), (double)rnd(20) * 0.5);
            assert_int_equal(sv_jobheap_push(&h, &e[next]), 0);
            ref[nref++] = &e[next++];
        } else {
            qsort(ref, nref, sizeof ref[0], ref_cmp);
            sv_jobent *want = ref[0];
            assert_ptr_equal(sv_jobheap_peek(&h), want);
            assert_ptr_equal(sv_jobheap_pop(&h), want);
            memmove(ref, ref + 1, (nref - 1) * sizeof ref[0]);
            nref--;
            pops++;
        }
        assert_int_equal(sv_jobheap_len(&h), nref);
        if (next % 500 == 0)
            assert_heap_ok(&h);
    }
    assert_int_equal(pops, N);
    assert_null(sv_jobheap_pop(&h));
    sv_jobheap_free(&h);
    free(ref);
    free(e);
}

static void test_heap_free_clears_indices(void **state)
{
    (void)state;
    sv_jobent e[3];
    sv_jobheap h = {0};
    for (int i = 0; i < 3; i++) {
        sv_jobent_init(&e[i], i == 0 ? "a" : i == 1 ? "b" : "c", i, 0.0);
        assert_int_equal(sv_jobheap_push(&h, &e[i]), 0);
        assert_true(e[i].heap_index >= 0);
    }
    sv_jobheap_free(&h);
    for (int i = 0; i < 3; i++)
        assert_int_equal(e[i].heap_index, -1);
    assert_int_equal(sv_jobheap_len(&h), 0);
    /* A freed heap is an empty one and can be used again. */
    assert_int_equal(sv_jobheap_push(&h, &e[1]), 0);
    assert_ptr_equal(sv_jobheap_pop(&h), &e[1]);
    sv_jobheap_free(&h);
}

/* ---- the in-memory queue ---- */

/* Fair between tenants: alice's five jobs of priority 1000, queued first, do not keep bob's
 * one job of priority 0 waiting behind them all; the tenants take turns, and within alice's
 * jobs the priority order holds. A cancelled entry leaves its own tenant's heap. */
static void test_queue_fair_between_groups(void **state)
{
    (void)state;
    sv_queue *q = sv_queue_memory_new();
    assert_non_null(q);
    sv_jobent a[5], b[2];
    char id[16];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "a%d", i);
        sv_jobent_init(&a[i], id, 1000 + i, (double)i);
        a[i].group = "alice";
        assert_int_equal(sv_queue_add(q, &a[i]), 0);
    }
    sv_jobent_init(&b[0], "b0", 0, 10.0);
    sv_jobent_init(&b[1], "b1", 0, 11.0);
    b[0].group = b[1].group = "bob";
    assert_int_equal(sv_queue_add(q, &b[0]), 0);
    assert_int_equal(sv_queue_add(q, &b[1]), 0);
    assert_int_equal(sv_queue_length(q), 7);
    assert_int_equal(sv_queue_group_length(q, "alice"), 5);
    assert_int_equal(sv_queue_group_length(q, "bob"), 2);
    assert_int_equal(sv_queue_group_length(q, "carol"), 0);
    sv_queue_remove(q, &b[1]);
    assert_int_equal(sv_queue_length(q), 6);
    assert_int_equal(sv_queue_group_length(q, "bob"), 1);
    const sv_jobent *want[] = {&a[4], &b[0], &a[3], &a[2], &a[1], &a[0]};
    for (int i = 0; i < 6; i++)
        assert_ptr_equal(sv_queue_take(q), want[i]);
    assert_null(sv_queue_take(q));
    assert_int_equal(sv_queue_length(q), 0);
    /* A tenant that appears after another was served still comes next: alice is served, then
     * bob queues one job and alice another; bob's runs first. */
    assert_int_equal(sv_queue_add(q, &a[0]), 0);
    assert_ptr_equal(sv_queue_take(q), &a[0]);
    assert_int_equal(sv_queue_add(q, &a[1]), 0);
    assert_int_equal(sv_queue_add(q, &b[0]), 0);
    assert_ptr_equal(sv_queue_take(q), &b[0]);
    assert_ptr_equal(sv_queue_take(q), &a[1]);
    /* Entries without a group form one group of their own. */
    sv_jobent n;
    sv_jobent_init(&n, "n", 0, 0.0);
    assert_int_equal(sv_queue_add(q, &n), 0);
    assert_ptr_equal(sv_queue_take(q), &n);
    sv_queue_destroy(q);
}

static void test_queue_memory(void **state)
{
    (void)state;
    sv_queue *q = sv_queue_memory_new();
    assert_non_null(q);
    assert_string_equal(q->ops->name, "memory");
    assert_int_equal(q->ops->claims_durably, 0);   /* the service records the start itself */
    assert_int_equal(sv_queue_length(q), 0);
    assert_null(sv_queue_take(q));

    sv_jobent e[4];
    sv_jobent_init(&e[0], "old-low", 0, 1.0);
    sv_jobent_init(&e[1], "new-high", 9, 4.0);
    sv_jobent_init(&e[2], "mid", 9, 3.0);
    sv_jobent_init(&e[3], "cancelled", 9, 0.5);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sv_queue_add(q, &e[i]), 0);
    assert_int_equal(sv_queue_length(q), 4);

    /* Leaving before it runs (a cancel): it is never taken, and removing it again, or an
     * entry that was never queued, is harmless. */
    sv_queue_remove(q, &e[3]);
    assert_int_equal(sv_queue_length(q), 3);
    sv_queue_remove(q, &e[3]);
    sv_jobent stray;
    sv_jobent_init(&stray, "stray", 0, 0.0);
    sv_queue_remove(q, &stray);
    assert_int_equal(sv_queue_length(q), 3);

    assert_ptr_equal(sv_queue_take(q), &e[2]);
    assert_ptr_equal(sv_queue_take(q), &e[1]);
    /* A job put back (say dispatch ran out of memory) is taken again first. */
    assert_int_equal(sv_queue_add(q, &e[1]), 0);
    assert_ptr_equal(sv_queue_take(q), &e[1]);
    assert_ptr_equal(sv_queue_take(q), &e[0]);
    assert_null(sv_queue_take(q));
    assert_int_equal(sv_queue_length(q), 0);

    /* Destroyed with entries still in it: they are told they are in no heap. */
    assert_int_equal(sv_queue_add(q, &e[0]), 0);
    sv_queue_destroy(q);
    assert_int_equal(e[0].heap_index, -1);
    sv_queue_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_add_find_remove),
        cmocka_unit_test(test_table_growth),
        cmocka_unit_test(test_table_each_frees),
        cmocka_unit_test(test_heap_order),
        cmocka_unit_test(test_heap_remove_middle),
        cmocka_unit_test(test_heap_remove_sifts_up),
        cmocka_unit_test(test_heap_random_against_reference),
        cmocka_unit_test(test_heap_free_clears_indices),
        cmocka_unit_test(test_queue_memory),
        cmocka_unit_test(test_queue_fair_between_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
