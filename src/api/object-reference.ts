/** corev1.ObjectReference on the wire; NodeImage tags use it to name the ImagePullJobs that want the tag (§4.3). */
export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}
