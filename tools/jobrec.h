/*
 * jobrec.h: which job a checkpoint folder belongs to, and what a restart of
 * it runs (the folder's job record, format/image.h).
 *
 * A job restores only commits it wrote itself (its random job id is in every
 * commit record and image), except through --restart, which takes the job
 * id and the program to run from the folder's job record, written by the
 * ckpt-run that started the job, and runs that program only if it is still
 * the executable the job ran (size and hash).
 */
#ifndef CKPT_JOBREC_H
#define CKPT_JOBREC_H

#include <stddef.h>

#include "job.h"

/* Makes the open folder dfd j's: a fresh job moves what an earlier job left
 * there aside (into DIR/job.<its id>) and writes its own record; --restart
 * reads the record and checks its program.  Sets j->rec; 0, or -1 after
 * saying why. */
int jobrec_claim(struct job *j, int dfd);
/* The command line to restart task t with, from its image at path (checked
 * against its commit record and against the executable it names); 0, or -1
 * with the reason in err. */
int jobrec_restart_argv(const struct job *j, struct task *t, const char *path, char *err,
                        size_t errlen);
/* Whether every image of checkpoint c is this job's and the one c names
 * (headers only); 0, or -1 after saying which is not. */
int jobrec_check_images(const struct job *j, const struct ckpt_commit *c);
/* Says, once per change, that the folder holds damaged commit records. */
void jobrec_say_bad_commits(const struct job *j);

#endif /* CKPT_JOBREC_H */
