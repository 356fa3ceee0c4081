/* SPDX-License-Identifier: MIT */
/* Intrusive circular doubly-linked list, after the kernel's list_head. */
#ifndef WEFT_ENGINE_LIST_H
#define WEFT_ENGINE_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct weft__list {
	struct weft__list *next, *prev;
};

#define weft__container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void weft__list_init(struct weft__list *l)
{
	l->next = l->prev = l;
}

static inline bool weft__list_empty(const struct weft__list *l)
{
	return l->next == l;
}

static inline void weft__list_add_tail(struct weft__list *head, struct weft__list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline void weft__list_del(struct weft__list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

#define weft__list_for_each_safe(pos, tmp, head) \
	for (pos = (head)->next, tmp = pos->next; pos != (head); pos = tmp, tmp = pos->next)

#endif
