#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
void heshen_set_num_threads(int n);
// heshen_check_onnx parses an ONNX model, catching OpenCV's exception, and
// returns 1 if OpenCV can load it. gocv's reader aborts the process instead.
int heshen_check_onnx(const char *data, size_t len);
#ifdef __cplusplus
}
#endif
